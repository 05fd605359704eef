"""The fault suite (issue 9): real consumers, real servers, faults from outside, a table."""
