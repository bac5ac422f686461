"Quarto's (and smalldocs') post-render step: maths as MathML, so the site loads nothing from the network."
import os

from fermask.site import mathml_site

mathml_site(os.environ['QUARTO_PROJECT_OUTPUT_DIR'])
