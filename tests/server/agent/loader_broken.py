"""A module that fails while being imported, for the loader's tests."""

raise RuntimeError("this module is broken")
