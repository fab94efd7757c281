"""The federation front end: what Kinfolk says and checks when it talks ActivityPub to other servers.

It sits above the domain (it imports `kinfolk.domain`, never the reverse): the inbox turns signed
requests from elsewhere into domain calls, and the transport signs and delivers what the domain
decided to send. `signatures` holds the HTTP signatures both sides rely on.
"""
