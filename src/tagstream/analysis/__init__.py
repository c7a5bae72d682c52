"""Analysis of time-tag streams: the streaming analyzers (g2, multi-tau g2, decay histograms,
intensity trace, FLID), their fits (g2(0), lifetimes, blinking states), the measurement kinds and
the run summary."""
