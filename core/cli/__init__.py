"""The `spader` command line. Each subcommand lives in its own module, imported on use."""
