package lakehouse

import "errors"

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

var errorsIs = errors.Is
