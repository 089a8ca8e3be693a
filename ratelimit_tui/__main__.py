from ratelimit_tui.cli import main

raise SystemExit(main())
