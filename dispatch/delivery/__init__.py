"""Delivery: hand a mailing's messages to the SMTP relay, journaling each one.

* :mod:`dispatch.delivery.smtp`: the SMTP conversation and why a connection failed;
* :mod:`dispatch.delivery.schedule`: a run (connections, rate, retries, the journal);
* :mod:`dispatch.delivery.samples`: one sample per language to a test address;
* :mod:`dispatch.delivery.results`: what a run reports (events, failures, summary).

Import from the module that defines a name (``dispatch.send`` gathers them all): this
package imports nothing, so that naming a result type does not load the SMTP client.
"""
