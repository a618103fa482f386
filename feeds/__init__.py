"""feeds: RSS 2.0, Atom and JSON Feed from Jekyll-style posts and other sites' feeds, merged and deduplicated."""

__version__ = "0.1.0"
