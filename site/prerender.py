"Quarto's (and smalldocs') pre-render step: the pages' fragments from results/, the API pages from nbs/."
import os

from fermask.site import prerender

prerender(os.environ.get('QUARTO_PROJECT_DIR', '.'))
