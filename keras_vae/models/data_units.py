"""The units of a VAE's data: what `x` is as the model takes it, and the
maps to and from the units of the encoder and the likelihood."""

from keras import ops

from keras_vae.models import preprocessing as preprocessing_module


class DataUnitsMixin:
    """`keras_vae.VAE`'s maps between the data's units (what every method
    takes and returns) and the model's (what the encoder and the
    likelihood see), set by its `preprocessing`."""

    @property
    def input_dtype(self):
        """The dtype of `x` as the model takes it: uint8 for 8-bit pixels,
        else float32."""
        if self._preprocessing_argument == preprocessing_module.PIXELS_8BIT:
            return "uint8"
        return "float32"

    def _model_units(self, x):
        """`x` mapped to the units of the encoder and the likelihood."""
        if self.preprocessing is None:
            return x
        return self.preprocessing(ops.cast(x, "float32"))

    def _data_units(self, u):
        """The inverse of `_model_units`: decoded values in `x`'s units."""
        if self.preprocessing is None:
            return u
        scale, offset = preprocessing_module.affine(self.preprocessing)
        return (ops.cast(u, "float32") - offset) / scale

    def _decoded_mean(self, params):
        """The mean of `p(x|z)` for the decoder's `params`, in the data's
        units (pixel values 0-255 for an 8-bit model)."""
        mean = self.likelihood.mean(params)
        if self.likelihood.pixel_values:
            return ops.cast(mean, "float32")  # In the data's units already.
        return self._data_units(mean)

    @property
    def _data_checks(self):
        # What checks the values of `x`: the likelihood, for data in its
        # units (a pixel likelihood's are the pixel values); the
        # preprocessing's own checks for raw data.
        if self.preprocessing is None or self.likelihood.pixel_values:
            return self.likelihood
        return preprocessing_module.RawData(self._preprocessing_argument)
