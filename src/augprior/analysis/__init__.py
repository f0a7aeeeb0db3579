"""Analyses of trained models (the paper's Section 4 and Appendix B figures): one feature-extraction
function (features.py), representation similarity (cka.py), and the inputs the analysis figures share
(inputs.py: models, test images and patches of the jobs the tables already train)."""
