"""Protocol simulators: each speaks a real device protocol on 127.0.0.1."""
