"""Layer 1, on the tag model: file formats kept as data, shared by the readers (``sources``),
the writers (``store``), the hardware drivers and the command line — PicoQuant's PTU tags and
record layouts (:mod:`.pq_spec`) and the headers of its legacy containers
(:mod:`.pq_legacy_spec`), the Photon-HDF5 fields (:mod:`.photon_hdf5_spec`) and the
ground-truth state timeline of a simulated emitter (:mod:`.timeline`)."""
