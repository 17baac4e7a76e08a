from rp_examples.common import serve
from rp_examples.tv import PROFILE

serve(PROFILE)
