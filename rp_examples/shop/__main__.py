from rp_examples.common import serve
from rp_examples.shop import PROFILE

serve(PROFILE)
