"""education app."""
