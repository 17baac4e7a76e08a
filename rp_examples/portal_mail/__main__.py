from rp_examples.common import serve
from rp_examples.portal_mail import PROFILE

serve(PROFILE)
