"""One module per screen. A new capability adds its screen here and one line to
SCREENS in app.py."""
