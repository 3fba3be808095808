"""Real-material audio-visual corpus for avloc (issue #4).

Scenes are composed from pictures and recordings that Debian and npm packages carry
(see /work/shared/DATA_SOURCES.md); nothing is downloaded from data-set hosts.
"""
