"""A live synthetic demo source for avloc: moving objects, the sounding one changes every few
seconds, published to the running service over RTMP (`python3 -m avloc_demo.stream`, or
`npm run demo`). Built from the scene corpus' assets (`avloc_corpus`), which it imports."""
