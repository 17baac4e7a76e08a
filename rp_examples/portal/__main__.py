from rp_examples.common import serve
from rp_examples.portal import PROFILE

serve(PROFILE)
