"""Real-material audio-visual corpus for avloc.

Scenes are composed from pictures and recordings that Debian and npm packages carry (packages.py
fetches them, catalog.py says which asset stands for which category and under which licence);
nothing is downloaded from data-set hosts.
"""
