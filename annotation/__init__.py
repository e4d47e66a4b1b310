"""Expert validation in Label Studio: labeling config, client, sampling, agreement."""
