"""Where the corpus' pictures and sounds come from, and which split each goes to.

packages.py fetches and unpacks the Debian and npm packages into the cache; rcc.py reads the Qt
resource bundles GCompris keeps its files in; midi.py renders seeded MIDI phrases with fluidsynth;
catalog.py says which asset stands for which category (package, licence, preferred split);
assets.py loads them as trimmed pictures and levelled sounds; splits.py splits them by asset.
"""
