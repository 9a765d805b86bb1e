"""`python -m chorus.sandbox --port 8070`: the sandbox without Django."""

from chorus.sandbox.server import main

main()
