"""The bilan pédagogique et financier (BPF) of Mon Activité Formation: form, store, rights."""
