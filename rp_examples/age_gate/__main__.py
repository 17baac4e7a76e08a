from rp_examples.age_gate import PROFILE
from rp_examples.common import serve

serve(PROFILE)
