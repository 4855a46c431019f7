from verisight.cli import main

main()
