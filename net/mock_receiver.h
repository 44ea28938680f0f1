// Placeholder: replaced by the mock receiver implementation.
#pragma once
