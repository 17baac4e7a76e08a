"""The virtual My Number Card: the JPKI application over a card file, in-process or via vpcd."""
