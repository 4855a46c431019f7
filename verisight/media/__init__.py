"""Media: type sniffing, safe decoding under limits, thumbnails. Knows nothing of cases."""
