"""PicoQuant TCSPC units through their programming libraries (ctypes): HydraHarp 400,
MultiHarp 150/160, PicoHarp 300, TimeHarp 260."""
