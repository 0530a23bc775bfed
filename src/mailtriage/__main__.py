from mailtriage.cli import main

raise SystemExit(main())
