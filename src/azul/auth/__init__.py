"""
Who the caller is and which sources of a catalog they may read: bearer token
verifiers (`identity`), readable sources per catalog (`access`), and how the
caller's access bounds a request's filters (`reify`).
"""
