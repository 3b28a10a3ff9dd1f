"""One module per view: ``TITLE``, the tables it ``REQUIRES``, and ``render(snapshot, present_tables)``."""
