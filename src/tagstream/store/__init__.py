"""Layer 6: writing runs to HDF5 files (Photon-HDF5 layout, our results under /user/tagstream)."""
