"""The terminal UI (Textual). `build_app` in app.py is the one factory the CLI,
the tests, the benchmark and the screenshot script use."""
