import sys

from kinfolk.cli import main

sys.exit(main())
