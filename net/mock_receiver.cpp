#include "net/mock_receiver.h"
