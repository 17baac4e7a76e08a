from rp_examples.bank import profile
from rp_examples.common import serve

serve(profile())
