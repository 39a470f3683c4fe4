"""A model's function that keeps what it compiled for each
`steps_per_execution`: what lets `VAE.fit` switch to one step per
execution for a per-batch callback, and back, without compiling again."""


class FunctionPerSteps:
    """A model's `train_function`, `test_function` or `predict_function`
    that keeps one compiled function for each `steps_per_execution`.

    `VAE.fit` runs one step per execution while a callback must see every
    batch, and the compiled number otherwise; `fit`, `evaluate` and
    `predict` run a divisor of a step count asked. This function calls the
    one built for the model's `steps_per_execution` at the time of the
    call, built by `make_function()` the first time `prepare` (or a call)
    meets that number, so switching back and forth on successive calls
    never traces or compiles a step again. `compile` (or anything else of
    Keras's that sets the model's functions to `None`) drops it with all it
    keeps.

    Args:
        model: The `keras.Model` whose `steps_per_execution` applies.
        make_function: Builds the model's function for its
            `steps_per_execution` of the time, as Keras would.
    """

    def __init__(self, model, make_function):
        self.model = model
        self.make_function = make_function
        self.functions = {}  # One per `steps_per_execution`.
        self.function = None  # The one the last call ran.

    def prepare(self):
        """Builds the function for the model's `steps_per_execution` of now
        unless it is kept already, and makes it the one calls run.

        The model's `make_*_function` calls it, where Keras builds its own
        function: before the loop, while the variables hold their values
        (Keras's JAX loop moves them into its state while it runs, and
        reads their shardings when it builds a function under a
        distribution).
        """
        steps = self.model.steps_per_execution
        if steps not in self.functions:
            self.functions[steps] = self.make_function()
        self.function = self.functions[steps]

    def __call__(self, *args):
        if self.model.steps_per_execution not in self.functions:
            self.prepare()
        self.function = self.functions[self.model.steps_per_execution]
        return self.function(*args)

    @property
    def steps_run(self):
        """How many steps the last call ran, where the function it called
        says (`keras_vae.callbacks.ProgbarLogger` reads it)."""
        return getattr(self.function, "steps_run", None)


def function_per_steps(model, name, make):
    """A `FunctionPerSteps` for `model`'s function `name` (such as
    `"train_function"`), each built by Keras's `make(force=True)`: a
    `make_*_function` method, which sets the function it builds on the
    model, where the `FunctionPerSteps` stays."""

    def make_function():
        current = getattr(model, name)
        try:
            make(force=True)
            return getattr(model, name)
        finally:
            setattr(model, name, current)

    return FunctionPerSteps(model, make_function)
