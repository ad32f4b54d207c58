"""Postprocessing of nianbao: from archived captures to report text, figures and checks."""
