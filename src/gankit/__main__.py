try:
    from gankit.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing gankit (and torch)
    raise SystemExit(130) from None

raise SystemExit(main())
