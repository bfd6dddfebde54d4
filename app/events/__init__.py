"""Each project's event stream: observed changes of servers and job outcomes, with stable ids."""
