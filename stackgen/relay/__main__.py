"""`python3 -m stackgen.relay --config relay.yml`: the relay image's entry point."""

import sys

from stackgen.relay.main import main

sys.exit(main())
