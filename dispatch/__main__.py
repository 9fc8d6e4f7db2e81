import sys

try:
    from dispatch.cli import main
except KeyboardInterrupt:  # Ctrl-C while the program loads: no traceback
    sys.stderr.write("Interrupted (Ctrl-C).\n")
    sys.exit(130)

main()
