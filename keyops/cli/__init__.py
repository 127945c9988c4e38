"""The click command-line shell: parse options, call the library, render, exit."""
