"""The Textual application: the app, its screens (one module and stylesheet each), widgets."""
