"""Where items come from: local posts folders and remote feeds."""
