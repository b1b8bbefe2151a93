"""Publish: the validated FAIR zip of a campaign and deposits in InvenioRDM repositories."""
